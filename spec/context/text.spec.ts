import { expect } from 'chai'
import { bucketKey, contextBatch, contextText, cutText, DEFAULT_SUMMARY_PROMPT, enrichText, formatActions, keptLines, numberedLines, renderPrompt, UNKNOWN_SESSION, utf8Bytes } from '../../src/context/text.js'
import { action, batch, line } from './batches.js'

describe('context/text: the strings both stores and the summarizer build', () => {
  it('bucketKey: product + "\\x1f" + session, or the session alone without a product', () => {
    expect(bucketKey('prod_abc', 'ps_1')).to.equal('prod_abc\u001fps_1')
    expect(bucketKey('', 'ps_1')).to.equal('ps_1')
    expect(bucketKey(undefined, UNKNOWN_SESSION)).to.equal('unknown')
  })

  it('contextBatch keeps forwarded_at and each action\'s toText line; numberedLines: "{n}. {line}" from 1, joined by \\n, no trailing newline; "" for none', () => {
    const kept = contextBatch({ forwarded_at: 12.5, actions: [action(7, 'Open', 'reports/:id'), action(8, 'Export')] })
    expect(kept).to.deep.equal({ forwarded_at: 12.5, lines: ['[7] click: Open \u2014 /reports/:id', '[8] click: Export \u2014 /home'] })
    expect(numberedLines(kept.lines)).to.equal('1. [7] click: Open \u2014 /reports/:id\n2. [8] click: Export \u2014 /home')
    expect(numberedLines([])).to.equal('')
  })

  it('formatActions numbers every action of the batches from 1 across batches', () => {
    expect(formatActions([batch('s', '', 1, ['a', 'b']), batch('s', '', 2, ['c'], 2)])).to.equal([line(1, 0, 'a'), line(2, 1, 'b'), line(3, 2, 'c')].join('\n'))
  })

  it('keptLines: lookback before maxActions; a straddling batch keeps its last actions; none kept is []', () => {
    const batches = [{ forwarded_at: 10, lines: ['a', 'b', 'c'] }, { forwarded_at: 5, lines: ['d'] }, { forwarded_at: 20, lines: ['e', 'f'] }]
    const names = (cutoff: number | undefined, max: number | undefined) => keptLines(batches, cutoff, max)
    expect(names(undefined, undefined)).to.deep.equal(['a', 'b', 'c', 'd', 'e', 'f'])
    expect(names(undefined, 3)).to.deep.equal(['d', 'e', 'f'])
    expect(names(10, 3)).to.deep.equal(['c', 'e', 'f'])
    expect(names(10, undefined)).to.deep.equal(['a', 'b', 'c', 'e', 'f'])
    expect(names(21, undefined)).to.deep.equal([])
  })

  it('utf8Bytes counts as Buffer.byteLength does; cutText keeps whole characters within the bytes and says how many characters went', () => {
    for (const text of ['', 'abc', '\u00e9\u2014\u{1F600}', 'x'.repeat(20_000) + '\u{1F600}', 'lone \ud800 surrogate']) {
      expect(utf8Bytes(text), JSON.stringify(text.slice(0, 20))).to.equal(Buffer.byteLength(text))
    }
    expect(cutText('abcdef', 6)).to.equal('abcdef')
    expect(cutText('abcdef', 4)).to.equal('abcd\u2026[2 more characters]')
    expect(cutText('\u{1F600}\u{1F600}', 7)).to.equal('\u{1F600}\u2026[2 more characters]') // a pair is never split
    expect(cutText('\u00e9\u00e9\u00e9', 3)).to.equal('\u00e9\u2026[2 more characters]')
  })

  it('keptLines with maxBytes: the newest lines that fit, stopping at the first that does not; a batch of known bytes that fits is taken whole', () => {
    const batches = [{ forwarded_at: 1, lines: ['aaaa', 'bb'] }, { forwarded_at: 2, lines: ['ccc', 'd'], bytes: 4 }]
    expect(keptLines(batches, undefined, undefined, 4)).to.deep.equal(['ccc', 'd'])
    expect(keptLines(batches, undefined, undefined, 6)).to.deep.equal(['bb', 'ccc', 'd'])
    expect(keptLines(batches, undefined, undefined, 9)).to.deep.equal(['bb', 'ccc', 'd'])
    expect(keptLines(batches, undefined, undefined, 3)).to.deep.equal(['d'])
    expect(keptLines(batches, undefined, 1, 10)).to.deep.equal(['d'])
    expect(keptLines(batches, undefined, undefined, 0)).to.deep.equal([])
  })

  it('contextText and enrichText: the four shapes', () => {
    expect(contextText('', '')).to.equal('')
    expect(contextText('S.', '')).to.equal('Summary: S.')
    expect(contextText('', '1. x')).to.equal('Recent activity:\n1. x')
    expect(contextText('S.', '1. x')).to.equal('Summary: S.\n\nRecent activity:\n1. x')
    expect(enrichText('', 'q?')).to.equal('q?')
    expect(enrichText('Summary: S.', 'q?')).to.equal('[Session context]\nSummary: S.\n\n[Query]\nq?')
  })

  it('the default prompt, to the character: blank lines before "Write", "Actions:" and "Summary:", nothing after "Summary:"', () => {
    expect(DEFAULT_SUMMARY_PROMPT).to.equal([
      "You are summarising a user's in-app session for a RAG pipeline.",
      'Your summary will be embedded and stored in a vector database to provide',
      'context for a chatbot or AI assistant.',
      '',
      'Write a concise 2-3 sentence summary of what the user did, focusing on:',
      '- Which features or pages they visited',
      '- What actions they performed',
      '- Any clear intent or goal you can infer',
      '',
      'Actions:',
      '{actions}',
      '',
      'Summary:',
    ].join('\n'))
  })

  it('renderPrompt replaces every {actions} literally ($ patterns included) and says undefined without one', () => {
    expect(renderPrompt('A:\n{actions}\nagain {actions}', "1. $& $' $1")).to.equal("A:\n1. $& $' $1\nagain 1. $& $' $1")
    expect(renderPrompt('Summarise the session.', '1. x')).to.equal(undefined)
    expect(renderPrompt('{action}', '1. x')).to.equal(undefined)
  })
})
