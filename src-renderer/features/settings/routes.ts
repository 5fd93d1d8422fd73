import type { RouteRecordRaw } from 'vue-router';

export const settingsRoutes: RouteRecordRaw[] = [
  {
    path: '/settings',
    name: 'settings',
    component: () => import('./SettingsPage.vue'),
    meta: { title: 'Settings', nav: { label: 'Settings', icon: 'settings', order: 90 } },
  },
];
