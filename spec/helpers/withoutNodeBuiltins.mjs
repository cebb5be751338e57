/**
 * Loaded with `node --import ./spec/helpers/withoutNodeBuiltins.mjs`: this Node then looks, to the
 * core, like a runtime without Node's modules (Cloudflare Workers without nodejs_compat, the Edge
 * runtime): `process.getBuiltinModule` is gone. The global `Buffer` stays, as Node's own fetch needs
 * it; that the core never reads it is shown on workerd, which has none (spec/runtimes).
 */
delete process.getBuiltinModule
