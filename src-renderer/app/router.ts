import { createRouter, createWebHashHistory, type RouteRecordRaw, type Router } from 'vue-router';
import { alertsRoutes } from '../features/alerts/routes';
import { fleetRoutes } from '../features/fleet/routes';
import { modelsRoutes } from '../features/models/routes';
import { deploymentsRoutes } from '../features/deployments/routes';
import { trainingRoutes } from '../features/training/routes';
import { simulatorRoutes } from '../features/simulator/routes';
import { settingsRoutes } from '../features/settings/routes';
import { demoRoutes } from '../features/demo/routes';

/**
 * Each feature brings its routes; a route with `meta.nav` appears in the left navigation (ordered
 * by `meta.nav.order`). Later capabilities (models, deployments, training) add a feature folder
 * and one line here.
 */
export const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/fleet' },
  ...fleetRoutes,
  ...alertsRoutes,
  ...modelsRoutes,
  ...deploymentsRoutes,
  ...trainingRoutes,
  ...demoRoutes,
  ...simulatorRoutes,
  ...settingsRoutes,
  { path: '/:pathMatch(.*)*', redirect: '/fleet' },
];

/**
 * Hash history: the app is loaded from a file in Electron and from one path in browser mode,
 * so no server-side fallback is needed for deep links.
 */
export function createAppRouter(): Router {
  return createRouter({ history: createWebHashHistory(), routes });
}
