/** SVG path data (24x24, stroked) of the navigation icons. */
export const NAV_ICONS = {
  fleet: 'M4 6h16M4 12h16M4 18h10 M20 16v4 M18 18h4',
  models: 'M12 3l8 4.5v9L12 21l-8-4.5v-9z M12 12l8-4.5 M12 12v9 M12 12L4 7.5',
  deployments: 'M12 3v12 M7 10l5 5l5-5 M4 17v3h16v-3',
  training: 'M4 19l5-6l4 3l7-9 M15 7h5v5 M4 4v15h16',
  simulator: 'M5 4h14v10H5z M9 18h6 M12 14v4 M8 9h2 M14 9h2',
  alerts: 'M6 16V11a6 6 0 0 1 12 0v5l2 2H4z M10 20a2 2 0 0 0 4 0',
  demo: 'M8 5v14l11-7z',
  settings: 'M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6z M12 2v3 M12 19v3 M2 12h3 M19 12h3 M4.9 4.9l2.1 2.1 M17 17l2.1 2.1 M4.9 19.1L7 17 M17 7l2.1-2.1',
} as const;

export type NavIconName = keyof typeof NAV_ICONS;
