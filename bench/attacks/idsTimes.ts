/**
 * Issue 22, items 5 and 6, in memory and on Redis. 5: a signed batch whose `session_id` holds the key
 * separator (`prod_abc\x1fps_victim`, no product) — does it land in the victim's bucket, and do `get`/`enrich`
 * throw after that key is reset? 6: one signed summary dated year 9999 (and 1e308) — is a later genuine summary
 * still stored? And the summarizer fed a batch stamped 9e15: are its later summaries emitted yet refused?
 */
import { ContextStore, SessionSummarizer, WebhookReceiver, intoContext, sign, silentLogger } from '../../dist/esm/index.js'
import { RedisContextStore } from '../../dist/esm/redis/index.js'
import { connect, startRedis } from '../../spec/helpers/redis.js'
import { actionsBody, nowSeconds, row, sleep } from './common.js'

const SECRET = 'whsec_attack'
const redis = await startRedis()
const client = await connect(redis.url)
const settle = () => sleep(200)
try {
  const stores = { memory: () => new ContextStore(), Redis: () => new RedisContextStore(client, { prefix: `attack:${Math.random()}:` }) }
  for (const [where, make] of Object.entries(stores)) {
    // Item 5.
    const store = make()
    const receiver = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
    receiver.payloads$.pipe(intoContext(store, { logger: silentLogger })).subscribe()
    const send = (body: string) => receiver.ingest(body, sign(body, SECRET))
    send(actionsBody('ps_victim', 1, 'Victim private line').replace('"prod_1"', '"prod_abc"'))
    const forged = JSON.parse(actionsBody('prod_abc\x1fps_victim', 1, 'Injected line')) as Record<string, unknown>
    delete forged.product_id
    const accepted = send(JSON.stringify(forged))._tag === 'Right'
    await settle()
    const victim = await store.reader.get('ps_victim', { productId: 'prod_abc' })
    const disclosed = await store.reader.get('prod_abc\x1fps_victim')
    let threw = ''
    try {
      await store.reset('prod_abc\x1fps_victim')
      await store.reader.get('ps_victim')
      await store.reader.enrich('ps_victim', 'q')
    } catch (error) {
      threw = String(error).slice(0, 80)
    }
    row({ item: '5', measure: `${where}: signed batch with session_id "prod_abc\\x1fps_victim", no product`,
      figure: `${accepted ? 'accepted' : 'refused'}; victim's context ${victim.includes('Injected') ? 'shows the injected line' : 'clean'}; ` +
        `get/enrich after reset ${threw === '' ? 'fine' : `threw ${threw}`}`,
      target: 'refused (InvalidPayload), nothing injected, get/enrich never throw',
      pass: !accepted && !victim.includes('Injected') && threw === '' })
    row({ item: '5', measure: `${where}: get("prod_abc\\x1fps_victim") (an id from user code)`,
      figure: disclosed.includes('Victim private') ? "discloses the victim's lines" : 'discloses nothing',
      target: 'discloses nothing', pass: !disclosed.includes('Victim private') })

    // Item 6: a summary from the far future, then a genuine one.
    for (const at of [253402300799, 1e308]) {
      const store6 = make()
      const r6 = new WebhookReceiver({ secret: SECRET, logger: silentLogger })
      r6.payloads$.pipe(intoContext(store6, { logger: silentLogger })).subscribe()
      const summary = (text: string, forwardedAt: number) => {
        const body = JSON.stringify({ type: 'summary', product_id: 'prod_1', session_id: 'ps_1', summary: text, replaces: 0, forwarded_at: forwardedAt })
        r6.ingest(body, sign(body, SECRET))
      }
      summary('Forged from the future', at)
      await settle()
      summary('Genuine summary', nowSeconds())
      await settle()
      const text = await store6.reader.get('ps_1')
      row({ item: '6', measure: `${where}: signed summary with forwarded_at ${at}, then a genuine one`,
        figure: text.includes('Genuine') ? 'the genuine summary is stored' : 'the genuine summary is refused (session frozen)',
        target: 'the genuine summary is stored', pass: text.includes('Genuine') })
    }
  }

  // Item 6: the summarizer stamps its summary with a batch's forwarded_at of 9e15.
  const store = new ContextStore()
  let calls = 0
  const summarizer = new SessionSummarizer({ llm: async () => `Summary ${++calls}`, target: store, logger: silentLogger })
  let emitted = 0
  summarizer.summary$.subscribe(() => emitted++)
  const parser = new WebhookReceiver({ secret: '', logger: silentLogger })
  summarizer.add(parser.parse(actionsBody('ps_1', 10, 'Clicked', { forwarded_at: 9e15 }))! as never)
  await settle()
  for (let i = 0; i < 5; i++) {
    summarizer.add(parser.parse(actionsBody('ps_1', 10))! as never)
    await settle()
  }
  const text = store.get('ps_1')
  row({ item: '6', measure: 'summarizer fed one batch with forwarded_at 9e15, then 5 genuine batches',
    figure: `${emitted} summaries emitted on summary$; the store shows ${/Summary (\d+)/.exec(text)?.[0] ?? 'none'} of ${calls}`,
    target: 'the store holds the latest summary; none emitted as stored that the store refused',
    pass: text.includes(`Summary ${calls}`) })
} finally {
  await client.close()
  await redis.stop()
}
