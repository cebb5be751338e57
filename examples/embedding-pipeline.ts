/**
 * The push-mode pipeline of the connector's documentation: per-session
 * batches → embed each action's text → upsert into a store keyed by
 * session. The embedder and the store are stand-ins with the shape of the
 * real thing (a deterministic hash-based vector, a Map): swap in your model
 * and your vector database.
 *
 *   AUTOPLAY_SECRET=… PORT=8787 node --import tsx examples/embedding-pipeline.ts
 */
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { concatMap, lastValueFrom } from 'rxjs'
import { mergeSessionBatches, toText, WebhookReceiver } from 'autoplay-rx'
import { createNodeMiddleware } from 'autoplay-rx/node'
import { listening, settings, stopOn } from './common.js'

const DIMENSIONS = 8

/** Stand-in for an embedding model: the same text always gives the same unit vector. */
async function embed(texts: string[]): Promise<number[][]> {
  return texts.map((text) => {
    const digest = createHash('sha256').update(text).digest()
    const vector = Array.from({ length: DIMENSIONS }, (_, i) => digest.readInt16BE(2 * i))
    const norm = Math.hypot(...vector)
    return vector.map((x) => x / norm)
  })
}

interface Document { readonly text: string; readonly vector: number[] }

/** Stand-in for a vector store: one record per session, created by its first upsert and extended by the next. */
const store = new Map<string, Document[]>()
async function upsert(session: string, documents: Document[]): Promise<number> {
  const record = [...(store.get(session) ?? []), ...documents]
  store.set(session, record)
  return record.length
}

const { port, host, secret } = settings()
const receiver = new WebhookReceiver({ secret })

const pipeline = receiver.actions$.pipe(
  // A session's batches within 5 s become one payload (≤ 50 actions): fewer, larger embedding requests.
  mergeSessionBatches({ windowMs: 5_000, maxActions: 50 }),
  // One request at a time, in order. A failure is caught (dead-letter the batch there): one bad batch must not stop the pipeline.
  concatMap(async (batch) => {
    const session = batch.session_id ?? 'anonymous'
    try {
      const texts = batch.actions.map((action) => toText(action))
      const vectors = await embed(texts)
      const stored = await upsert(session, texts.map((text, i) => ({ text, vector: vectors[i]! })))
      console.log(`${session}: upserted ${texts.length} vectors of ${DIMENSIONS} dimensions, ${stored} in store`)
    } catch (error) {
      console.error(`${session}: batch not embedded: ${String(error)}`)
    }
  }),
)
// Resolves when the pipeline completes: after the receiver completes and the open windows are flushed and embedded.
const drained = lastValueFrom(pipeline, { defaultValue: undefined })

const server = createServer(createNodeMiddleware(receiver, { path: '/events' }))
server.listen(port, host, () => listening(server.address(), '/events'))

stopOn(async () => {
  await new Promise((resolve) => server.close(resolve))
  receiver.complete() // flushes what mergeSessionBatches still holds: nothing delivered is lost
  await drained
})
