import { mount } from 'svelte';
import App from './App.svelte';
import { listenForDeepLinks } from './deepLink.svelte.js';
import './styles.css';

const target = document.getElementById('app');
if (!target) throw new Error('index.html lacks #app');
// Before mounting: src-main may hand over a link as soon as the page has loaded.
listenForDeepLinks();
mount(App, { target });
