import type { RouteRecordRaw } from 'vue-router';

export const demoRoutes: RouteRecordRaw[] = [
  {
    // Query `run=1` starts a run on arrival (the fleet's empty state links here with it).
    path: '/demo',
    name: 'demo',
    component: () => import('./DemoPage.vue'),
    meta: { title: 'Demo', nav: { label: 'Demo', icon: 'demo', order: 70 } },
  },
];
