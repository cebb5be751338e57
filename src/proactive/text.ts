/** Text as the reference measures it: Python's whitespace for strip, code points for length, its rounding. */

/** Python's `str.isspace` for one UTF-16 unit: JavaScript's `trim` adds U+FEFF and leaves U+001C–U+001F, U+0085. */
function isSpace(c: number): boolean {
  return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c === 0x85 || c === 0xa0 || c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000
}

/** Python's `strip()` (or `rstrip()` with `left` false), in linear time where a regex may backtrack. */
export function strip(text: string, left = true): string {
  let start = 0
  let end = text.length
  if (left) while (start < end && isSpace(text.charCodeAt(start))) start++
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--
  return text.slice(start, end)
}

/** The first `max` code points of `text` (Python's `text[:max]`). */
export function codePoints(text: string, max: number): string {
  return text.length <= max ? text : Array.from(text).slice(0, max).join('')
}

/** An offer's body: stripped, at most 150 code points, cut ones right-stripped (the reference's truncation). */
export function shorten(text: string): string {
  const body = strip(text)
  const cut = codePoints(body, 150)
  return cut === body ? body : strip(cut, false)
}

/** Python's `round(x, 3)`: the nearest, and a tie (only x = k/16 has one) to the even thousandth. */
export function round3(x: number): number {
  const thousandths = x * 1000
  const floor = Math.floor(thousandths)
  if (thousandths - floor === 0.5 && Number.isInteger(x * 16)) return (floor % 2 === 0 ? floor : floor + 1) / 1000
  return Number(x.toFixed(3))
}
