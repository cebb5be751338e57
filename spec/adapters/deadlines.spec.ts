import { expect } from 'chai'
import { deadlineSweep, type Expiring } from '../../src/adapters/deadlines.js'
import { sleep } from '../helpers/http.js'

describe('adapters/deadlines', () => {
  describe('Deadlines', () => {
    const work = (ms: number, expire: (abandoned: boolean) => void, abandoned = () => false): Expiring =>
      ({ at: Date.now() + ms, expire, abandoned })

    it('expires a deadline once its time has passed, at most one resolution late', async () => {
      const deadlines = deadlineSweep(10)
      const fired: Array<[boolean, number]> = []
      const started = Date.now()
      deadlines.add(work(50, (abandoned) => fired.push([abandoned, Date.now() - started])))
      await sleep(30)
      expect(fired).to.deep.equal([])
      await sleep(60)
      expect(fired.map(([abandoned]) => abandoned)).to.deep.equal([false])
      expect(fired[0]![1]).to.be.within(50, 85)
    })

    it('never fires a removed deadline, and runs no timer while nothing is pending', async () => {
      const deadlines = deadlineSweep(5)
      let fired = 0
      expect(deadlines.sweeping).to.equal(false)
      const a = work(20, () => { fired++ })
      const b = work(20, () => { fired++ })
      deadlines.add(a)
      deadlines.add(b)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([2, true])
      deadlines.remove(a)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([1, true])
      deadlines.remove(b)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([0, false])
      await sleep(40)
      expect(fired).to.equal(0)
    })

    it('expires early, as abandoned, when its check says the work was abandoned', async () => {
      const deadlines = deadlineSweep(5)
      let gone = false
      const fired: boolean[] = []
      deadlines.add(work(10_000, (abandoned) => fired.push(abandoned), () => gone))
      await sleep(20)
      expect(fired).to.deep.equal([])
      gone = true
      await sleep(20)
      expect(fired).to.deep.equal([true])
      expect(deadlines.sweeping).to.equal(false)
    })
  })
})
