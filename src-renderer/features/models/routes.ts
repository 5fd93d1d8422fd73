import type { RouteRecordRaw } from 'vue-router';

export const modelsRoutes: RouteRecordRaw[] = [
  {
    path: '/models',
    name: 'models',
    component: () => import('./ModelsPage.vue'),
    meta: { title: 'Models', nav: { label: 'Models', icon: 'models', order: 30 } },
  },
  {
    path: '/models/:id',
    name: 'model',
    component: () => import('./ModelDetailPage.vue'),
    props: true,
    meta: { title: 'Model' },
  },
];
