import type { RouteRecordRaw } from 'vue-router';

export const alertsRoutes: RouteRecordRaw[] = [
  {
    path: '/alerts',
    name: 'alerts',
    component: () => import('./AlertsPage.vue'),
    meta: { title: 'Alerts', nav: { label: 'Alerts', icon: 'alerts', order: 15, badge: 'alerts' } },
  },
];
