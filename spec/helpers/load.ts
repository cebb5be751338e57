// The load generator lives in bench/load.ts; the load spec runs it small.
export { runLoad, type LoadReport } from '../../bench/load.js'
