import type { RouteRecordRaw } from 'vue-router';

export const simulatorRoutes: RouteRecordRaw[] = [
  {
    path: '/simulator',
    name: 'simulator',
    component: () => import('./SimulatorPage.vue'),
    meta: { title: 'Simulator', nav: { label: 'Simulator', icon: 'simulator', order: 80 } },
  },
];
