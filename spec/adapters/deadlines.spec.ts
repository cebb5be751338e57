import { expect } from 'chai'
import { deadlineSweep, type Expiring } from '../../src/adapters/deadlines.js'
import { sleep } from '../helpers/http.js'

describe('adapters/deadlines', () => {
  describe('deadlineSweep', () => {
    it('checks each pending work at each tick, one resolution apart, and its deadline at most one resolution late', async () => {
      const deadlines = deadlineSweep(10)
      const started = Date.now()
      const checks: number[] = []
      let expired: number | undefined
      // A work of 50 ms, as a body read is: it ends itself (and leaves the sweep) once its time ran out.
      const work: Expiring = {
        check: (now) => {
          checks.push(now - started)
          if (now - started >= 50) {
            expired = Date.now() - started
            deadlines.remove(work)
          }
        },
      }
      deadlines.add(work)
      await sleep(30)
      expect(expired).to.equal(undefined)
      expect(checks.length).to.be.within(1, 3)
      await sleep(60)
      expect(expired).to.be.within(50, 85)
      expect(checks.length).to.be.within(4, 8)
      expect(deadlines.sweeping).to.equal(false)
    })

    it('never fires a removed deadline, and runs no timer while nothing is pending', async () => {
      const deadlines = deadlineSweep(5)
      let checked = 0
      expect(deadlines.sweeping).to.equal(false)
      const a: Expiring = { check: () => { checked++ } }
      const b: Expiring = { check: () => { checked++ } }
      deadlines.add(a)
      deadlines.add(b)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([2, true])
      deadlines.remove(a)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([1, true])
      deadlines.remove(b)
      expect([deadlines.size, deadlines.sweeping]).to.deep.equal([0, false])
      await sleep(40)
      expect(checked).to.equal(0)
    })

    it('a work that ends early (abandoned) leaves at the next tick, and the timer stops with the last one', async () => {
      const deadlines = deadlineSweep(5)
      let gone = false
      const ended: boolean[] = []
      const work: Expiring = {
        check: () => {
          if (!gone) return
          ended.push(true)
          deadlines.remove(work)
        },
      }
      deadlines.add(work)
      await sleep(20)
      expect(ended).to.deep.equal([])
      gone = true
      await sleep(20)
      expect(ended).to.deep.equal([true])
      expect(deadlines.sweeping).to.equal(false)
    })
  })
})
