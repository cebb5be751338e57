import { expect } from 'chai'
import { map } from 'rxjs'
import { TestScheduler } from 'rxjs/testing'
import { memoryDedupeStore } from '../../src/operators/memoryDedupeStore.js'
import { runChild, sourceModule } from '../sse/helpers.js'

describe('memoryDedupeStore', () => {
  it('answers false for a new key and true for a repeat', () => {
    const store = memoryDedupeStore()
    expect(store.seen('a')).to.equal(false)
    expect(store.seen('a')).to.equal(true)
    expect(store.seen('b')).to.equal(false)
    expect(store.size).to.equal(2)
  })

  it('forgets the least recently seen key beyond maxKeys', () => {
    const store = memoryDedupeStore({ maxKeys: 2 })
    store.seen('a')
    store.seen('b')
    expect(store.seen('a')).to.equal(true) // a is now the most recent
    expect(store.seen('c')).to.equal(false) // evicts b
    expect(store.size).to.equal(2)
    expect(store.seen('a')).to.equal(true)
    expect(store.seen('b')).to.equal(false) // forgotten, so new again; evicts c
    expect(store.seen('c')).to.equal(false)
  })

  it('remembers a key for ttlMs from when it was first recorded', () => {
    let clock = 1_000
    const store = memoryDedupeStore({ ttlMs: 10, now: () => clock })
    expect(store.seen('a')).to.equal(false)
    clock = 1_009
    expect(store.seen('a')).to.equal(true) // a repeat does not extend the expiry
    clock = 1_010
    expect(store.seen('a')).to.equal(false) // expired, recorded again until 1_020
    clock = 1_019
    expect(store.seen('a')).to.equal(true)
  })

  it('reclaims expired keys as calls come in', () => {
    let clock = 0
    const store = memoryDedupeStore({ ttlMs: 10, now: () => clock })
    store.seen('a')
    store.seen('b')
    clock = 5
    store.seen('c')
    expect(store.size).to.equal(3)
    clock = 10
    store.seen('d') // a and b expired at 10
    expect(store.size).to.equal(2)
  })

  it('forgets everything on clear', () => {
    const store = memoryDedupeStore()
    store.seen('a')
    store.clear()
    expect(store.size).to.equal(0)
    expect(store.seen('a')).to.equal(false)
  })

  it('reads virtual time inside TestScheduler.run by default', () => {
    new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected)
    }).run(({ cold, expectObservable }) => {
      const store = memoryDedupeStore({ ttlMs: 3 })
      // New at 0, a repeat at 2, expired at 3 so new again at 4.
      expectObservable(cold('a-a-a|').pipe(map((key) => (store.seen(key) ? 'r' : 'n')))).toBe('n-r-n|')
    })
  })

  it('remembers 10,000 keys by default', () => {
    const store = memoryDedupeStore({ now: () => 0 })
    for (let i = 0; i <= 10_000; i++) store.seen(`k${i}`)
    expect(store.size).to.equal(10_000)
    expect(store.seen('k0')).to.equal(false) // the oldest was forgotten
  })

  it('holds at most maxBytes of keys (16 bytes a key, two a character), forgetting the least recently seen', () => {
    const store = memoryDedupeStore({ maxBytes: 200, now: () => 0 })
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((letter) => letter.repeat(20)) // 56 bytes each
    for (const key of [a, b, c]) store.seen(key!)
    expect(store.seen(a!)).to.equal(true) // a is now the most recent
    expect(store.seen(d!)).to.equal(false) // 224 bytes: b is forgotten
    expect([store.size, store.seen(b!), store.seen(a!)]).to.deep.equal([3, false, true])
    expect(() => memoryDedupeStore({ maxBytes: 0 })).to.throw(TypeError, 'maxBytes must be a positive integer')
  })

  it('holds 16 MiB of keys by default: 300 keys of 1 MiB live in a 96 MiB heap', async function () {
    this.timeout(20_000)
    // Keys of 1 MiB are deliveryKeys of signed batches with long ids or scattered indexes (within the body limit).
    const { stdout } = await runChild(18_000, `
      import { memoryDedupeStore } from ${JSON.stringify(sourceModule('operators/memoryDedupeStore.ts'))}
      const store = memoryDedupeStore()
      const id = 'x'.repeat(1024 * 1024)
      for (let i = 0; i < 300; i++) store.seen(JSON.stringify([i, id])) // a new 1 MiB string each
      console.log(store.size)
    `, ['--max-old-space-size=96'])
    expect(Number(stdout)).to.equal(7) // (16 MiB) / (2 MiB + 16) per key
  })

  it('remembers a key for one hour by default', () => {
    let clock = 0
    const store = memoryDedupeStore({ now: () => clock })
    store.seen('a')
    clock = 3_599_999
    expect(store.seen('a')).to.equal(true)
    clock = 3_600_000
    expect(store.seen('a')).to.equal(false)
  })

  it('refuses bounds that cannot be right', () => {
    expect(() => memoryDedupeStore({ maxKeys: 0 })).to.throw(TypeError, 'maxKeys must be a positive integer')
    expect(() => memoryDedupeStore({ maxKeys: 1.5 })).to.throw(TypeError, 'maxKeys must be a positive integer')
    expect(() => memoryDedupeStore({ ttlMs: 0 })).to.throw(TypeError, 'ttlMs must be a positive number')
    expect(() => memoryDedupeStore({ ttlMs: Number.NaN })).to.throw(TypeError, 'ttlMs must be a positive number')
  })

  it('keeps a key for ever with ttlMs: Infinity, and takes an explicit undefined as the default', () => {
    let clock = 0
    const store = memoryDedupeStore({ ttlMs: Infinity, maxKeys: undefined, now: () => clock })
    store.seen('a')
    clock = Number.MAX_SAFE_INTEGER
    expect(store.seen('a')).to.equal(true)
    const defaults = memoryDedupeStore({ maxKeys: undefined, ttlMs: undefined, now: () => 0 })
    for (let i = 0; i <= 10_000; i++) defaults.seen(String(i))
    expect(defaults.size).to.equal(10_000)
  })
})
