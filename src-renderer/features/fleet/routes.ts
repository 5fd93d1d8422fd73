import type { RouteRecordRaw } from 'vue-router';

export const fleetRoutes: RouteRecordRaw[] = [
  {
    path: '/fleet',
    name: 'fleet',
    component: () => import('./FleetPage.vue'),
    meta: { title: 'Fleet', nav: { label: 'Fleet', icon: 'fleet', order: 10 } },
  },
  {
    path: '/fleet/:id',
    name: 'device',
    component: () => import('../device/DevicePage.vue'),
    props: true,
    meta: { title: 'Device' },
  },
];
