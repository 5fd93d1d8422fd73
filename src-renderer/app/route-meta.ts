import type { NavIconName } from '../components/nav-icons';

/** What a route shows in the navigation. */
export interface NavEntry {
  label: string;
  icon: NavIconName;
  /** Position in the navigation; gaps leave room for later capabilities. */
  order: number;
  /** Shows the count of active alerts beside the label. */
  badge?: 'alerts';
}

declare module 'vue-router' {
  interface RouteMeta {
    /** Page title in the header. */
    title?: string;
    /** Present on routes listed in the left navigation. */
    nav?: NavEntry;
  }
}
