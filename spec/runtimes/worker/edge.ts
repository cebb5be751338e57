// An Edge runtime function (the `fetch` event, as Vercel's edge-runtime runs it).
import { app } from './app.js'

interface FetchEvent { readonly request: Request; respondWith(response: Promise<Response>): void }
declare function addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void

addEventListener('fetch', (event) => event.respondWith(app(event.request)))
