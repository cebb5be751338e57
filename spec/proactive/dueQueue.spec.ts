/** The proactive operator's one timer queue: order, stale entries, and its bound. */
import { expect } from 'chai'
import { DueQueue } from '../../src/proactive/dueQueue.js'

const owner = (name: string) => ({ name, timerAt: Infinity })
const drain = (queue: DueQueue<ReturnType<typeof owner>>, now: number) => {
  const out: string[] = []
  for (let due = queue.pop(now); due !== undefined; due = queue.pop(now)) out.push(due.name)
  return out
}

describe('DueQueue', () => {
  it('gives owners back in the order due, ties in the order armed, only once due', () => {
    const queue = new DueQueue<ReturnType<typeof owner>>()
    const [a, b, c, d] = [owner('a'), owner('b'), owner('c'), owner('d')]
    queue.arm(c, 30)
    queue.arm(a, 10)
    queue.arm(d, 30)
    queue.arm(b, 20)
    expect([queue.peek(), queue.live]).to.deep.equal([10, 4])
    expect(drain(queue, 9)).to.deep.equal([])
    expect(drain(queue, 20)).to.deep.equal(['a', 'b'])
    expect([a.timerAt, queue.live]).to.deep.equal([Infinity, 2])
    expect(drain(queue, 100)).to.deep.equal(['c', 'd'])
    expect([queue.peek(), queue.live]).to.deep.equal([Infinity, 0])
  })

  it('keeps one live entry per owner: re-armed, at its new time only; disarmed, never; armed back to a time, once', () => {
    const queue = new DueQueue<ReturnType<typeof owner>>()
    const [a, b, c] = [owner('a'), owner('b'), owner('c')]
    queue.arm(a, 10)
    queue.arm(a, 40)
    queue.arm(b, 20)
    queue.disarm(b)
    queue.arm(c, 30)
    queue.arm(c, 50)
    queue.arm(c, 30)
    expect(queue.live).to.equal(2)
    expect(drain(queue, 35)).to.deep.equal(['c'])
    expect(drain(queue, 100)).to.deep.equal(['a'])
    expect(queue.size).to.equal(0)
  })

  it('holds at most twice its live entries and 32, however often owners are re-armed', () => {
    const queue = new DueQueue<ReturnType<typeof owner>>()
    const owners = Array.from({ length: 1000 }, (_, n) => owner(`o${n}`))
    let most = 0
    for (let round = 0; round < 20; round++) {
      // Back and forth between two times: stale entries with a live owner's own time.
      owners.forEach((o, n) => { queue.arm(o, 1000 + n + (round % 2) * 5000); most = Math.max(most, queue.size) })
    }
    expect(queue.live).to.equal(1000)
    expect(most).to.be.at.most(2 * 1000 + 32)
    const single = owner('single')
    for (let n = 0; n < 10_000; n++) queue.arm(single, n % 7)
    expect(queue.size).to.be.at.most(2 * 1001 + 32)
    const fired = drain(queue, Infinity)
    expect(fired).to.have.length(1001)
    expect(fired[0]).to.equal('single')
    expect(fired.slice(1)).to.deep.equal(owners.map((o) => o.name))
    expect([queue.size, queue.live]).to.deep.equal([0, 0])
    // Disarmed, as a released session is, its entries go too: the queue holds on to nothing that is gone.
    owners.forEach((o, n) => queue.arm(o, n))
    owners.slice(0, 900).forEach((o) => queue.disarm(o))
    expect([queue.size <= 2 * 100 + 32, queue.live]).to.deep.equal([true, 100])
    owners.forEach((o) => queue.disarm(o))
    expect([queue.size, queue.live]).to.deep.equal([0, 0])
  })
})
