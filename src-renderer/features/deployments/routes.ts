import type { RouteRecordRaw } from 'vue-router';

export const deploymentsRoutes: RouteRecordRaw[] = [
  {
    path: '/deployments',
    name: 'deployments',
    component: () => import('./DeploymentsPage.vue'),
    meta: { title: 'Deployments', nav: { label: 'Deployments', icon: 'deployments', order: 40 } },
  },
  {
    // Query `model` and `version` fill the form (the Models page's "Deploy" opens it so).
    path: '/deployments/new',
    name: 'deployment-new',
    component: () => import('./CreateDeploymentPage.vue'),
    meta: { title: 'New deployment' },
  },
  {
    path: '/deployments/:id',
    name: 'deployment',
    component: () => import('./DeploymentDetailPage.vue'),
    props: true,
    meta: { title: 'Deployment' },
  },
];
