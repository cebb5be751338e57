// Mocha appends a config's "spec" to the files named on its command line, so with a fixed
// "spec" `npx mocha spec/x.spec.ts` would run the whole suite: the suite is the default only
// when no spec file or glob is named.
const named = process.argv.slice(2).some((arg) => !arg.startsWith('-') && /(^|\/)spec\/|\.[cm]?[jt]s$/.test(arg))

module.exports = {
  ...(named ? {} : { spec: ['spec/**/*.spec.ts'] }),
  'node-option': ['import=tsx'],
  timeout: 20000,
  exit: false,
}
