// Mocha appends a config's "spec" to the files named on its command line, so with a fixed
// "spec" `npx mocha spec/x.spec.ts` would run the whole suite: the suite is the default only
// when no spec file, folder or glob is named.
const TAKES_VALUE = /^(-[gfRrntOsu]|--(grep|fgrep|reporter|reporter-options?|require|node-option|timeout|slow|ui|config|ignore|exclude|file|extension|retries|jobs|package))$/
const args = process.argv.slice(2)
const named = args.some((arg, i) => arg === '--spec' || arg.startsWith('--spec=') ||
  (!arg.startsWith('-') && !TAKES_VALUE.test(args[i - 1] ?? '') && /(^|\/)spec(\/|$)|\.[cm]?[jt]s$/.test(arg)))

module.exports = {
  ...(named ? {} : { spec: ['spec/**/*.spec.ts'] }),
  extension: ['ts'],
  'node-option': ['import=tsx'],
  timeout: 20000,
  exit: false,
}
