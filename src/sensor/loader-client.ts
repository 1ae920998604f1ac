// Compatibility re-export: the loader client moved to the kernel layer (src/kernel/loader.ts).
export { DEFAULT_LOADER, DEFAULT_WAKEUP_MS, LoaderClient, type LoaderOptions } from '../kernel/loader.ts';
