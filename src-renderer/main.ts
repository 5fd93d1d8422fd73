/**
 * Renderer entry: connects to the core (Electron IPC or browser-mode WebSocket), then mounts the
 * Vue app with Pinia, the router and Element Plus.
 */
import { createApp } from 'vue';
import { createPinia } from 'pinia';
import 'element-plus/dist/index.css';
import 'uplot/dist/uPlot.min.css';
import './styles/app.css';
import { connection } from './api';
import { apiKey } from './app/api-context';
import { connectionKey } from './app/connection-context';
import { createAppRouter } from './app/router';
import App from './app/App.vue';

const app = createApp(App);
app.provide(apiKey, connection.api);
app.provide(connectionKey, connection);
app.use(createPinia());
app.use(createAppRouter());
app.mount('#app');
