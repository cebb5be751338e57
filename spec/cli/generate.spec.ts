import { expect } from 'chai'
import { isRight } from 'fp-ts/lib/Either.js'
import { ActionsPayload, Payload, SummaryPayload } from '../../src/codecs.js'
import { generateEvents, seededRandom } from '../../src/cli/generate.js'

const parse = (texts: string[]) => texts.map((text) => JSON.parse(text) as Record<string, unknown>)

describe('cli/generate', () => {
  describe('seededRandom', () => {
    it('is mulberry32: the same seed gives the same numbers, in [0, 1)', () => {
      const draw = (seed: number) => { const random = seededRandom(seed); return Array.from({ length: 1000 }, random) }
      const a = draw(42)
      expect(draw(42)).to.deep.equal(a)
      expect(draw(43)).to.not.deep.equal(a)
      expect(a.every((x) => x >= 0 && x < 1)).to.equal(true)
      // mulberry32's first outputs for seed 1, from its reference C code (32-bit unsigned arithmetic).
      const first = seededRandom(1)
      expect([first(), first()].map((x) => Math.round(x * 2 ** 32))).to.deep.equal([2693262067, 11749833])
    })
  })

  describe('generateEvents', () => {
    const at = 1_700_000_000

    it('produces actions batches each codec accepts, in the wire format exactly', () => {
      const texts = generateEvents({ type: 'actions', count: 12, sessions: 3, actionsPerBatch: 4, seed: 5, startAt: at, productId: 'prod_x' })
      expect(texts).to.have.length(12)
      for (const event of parse(texts)) {
        expect(isRight(ActionsPayload.decode(event)), JSON.stringify(event)).to.equal(true)
        expect(isRight(Payload.decode(event))).to.equal(true)
        expect(Object.keys(event)).to.deep.equal(['type', 'product_id', 'session_id', 'user_id', 'email', 'count', 'forwarded_at', 'actions'])
        const actions = event.actions as Array<Record<string, unknown>>
        expect(event.count).to.equal(4)
        expect(actions).to.have.length(4)
        for (const action of actions) {
          expect(Object.keys(action)).to.deep.equal(['index', 'type', 'title', 'description', 'canonical_url', 'raw_url',
            'timestamp_start', 'timestamp_end', 'session_id', 'user_id', 'email'])
          expect([action.session_id, action.user_id, action.email]).to.deep.equal([event.session_id, event.user_id, event.email])
          expect(action.timestamp_end).to.equal((action.timestamp_start as number) + 0.5)
        }
        expect(event.product_id).to.equal('prod_x')
      }
    })

    it('spreads batches round-robin over the sessions, each numbering its actions on from 0', () => {
      const events = parse(generateEvents({ type: 'actions', count: 7, sessions: 3, actionsPerBatch: 2, seed: 1, startAt: at }))
      const ids = events.map((e) => e.session_id as string)
      expect(new Set(ids).size).to.equal(3)
      expect(ids.slice(3)).to.deep.equal(ids.slice(0, 4))
      expect(events.map((e) => e.user_id)).to.deep.equal(['user_1', 'user_2', 'user_3', 'user_1', 'user_2', 'user_3', 'user_1'])
      const indexes = events.map((e) => (e.actions as Array<{ index: number }>).map((a) => a.index))
      expect(indexes).to.deep.equal([[0, 1], [0, 1], [0, 1], [2, 3], [2, 3], [2, 3], [4, 5]])
      expect(events.map((e) => e.forwarded_at)).to.deep.equal([0, 0.25, 0.5, 0.75, 1, 1.25, 1.5].map((dt) => at + dt))
    })

    it('produces summaries each codec accepts', () => {
      const events = parse(generateEvents({ type: 'summary', count: 4, sessions: 2, seed: 3, startAt: at }))
      for (const event of events) {
        expect(isRight(SummaryPayload.decode(event)), JSON.stringify(event)).to.equal(true)
        expect(Object.keys(event)).to.deep.equal(['type', 'product_id', 'session_id', 'summary', 'replaces', 'forwarded_at'])
        expect(event.product_id).to.equal('prod_demo')
        expect(event.replaces).to.equal(0)
        expect(event.summary).to.match(/^The user opened the .+ page, used ".+" and then went to .+\.$/)
      }
      expect(new Set(events.map((e) => e.session_id)).size).to.equal(2)
    })

    it('is deterministic for a seed and a start time, and the seed changes the events', () => {
      const options = { type: 'actions', count: 20, sessions: 4, startAt: at } as const
      expect(generateEvents({ ...options, seed: 9 })).to.deep.equal(generateEvents({ ...options, seed: 9 }))
      expect(generateEvents({ ...options, seed: 10 })).to.not.deep.equal(generateEvents({ ...options, seed: 9 }))
      // Without a seed, 42: the CLI's default.
      expect(generateEvents(options)).to.deep.equal(generateEvents({ ...options, seed: 42 }))
    })

    it('defaults: 3 actions a batch, product prod_demo, now as the start; fewer than one session is one', () => {
      const before = Date.now() / 1000
      const [event] = parse(generateEvents({ type: 'actions', count: 1, sessions: 0 }))
      expect(event!.count).to.equal(3)
      expect(event!.product_id).to.equal('prod_demo')
      expect(event!.forwarded_at).to.be.within(Math.floor(before), Date.now() / 1000 + 1)
      expect(generateEvents({ type: 'summary', count: 0, sessions: 2 })).to.deep.equal([])
    })
  })
})
