import type { RouteRecordRaw } from 'vue-router';

export const trainingRoutes: RouteRecordRaw[] = [
  {
    path: '/training',
    name: 'training',
    component: () => import('./TrainingPage.vue'),
    meta: { title: 'Training', nav: { label: 'Training', icon: 'training', order: 50 } },
  },
  {
    // Query `model` and `version` fill the form.
    path: '/training/new',
    name: 'training-new',
    component: () => import('./CreateJobPage.vue'),
    meta: { title: 'New federated job' },
  },
  {
    // Query `devices` (comma-separated ids) preselects devices.
    path: '/training/personalize',
    name: 'personalize',
    component: () => import('./PersonalizePage.vue'),
    meta: { title: 'Personalization' },
  },
  {
    path: '/training/:id',
    name: 'training-job',
    component: () => import('./JobPage.vue'),
    props: true,
    meta: { title: 'Federated job' },
  },
];
