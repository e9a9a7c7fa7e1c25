// @fal-ai/client (JavaScript) subscribing in streaming mode, against the mock: prints one JSON line.
// Run by tests/compat/test_fal_js_client.py with WAN26_FAL_JS = a folder where `npm install @fal-ai/client` ran.
"use strict";
const { createFalClient } = require(require.resolve("@fal-ai/client", { paths: [process.env.WAN26_FAL_JS] }));

const mock = new URL(process.env.WAN26_FAL_BASE_URL);
const fal = createFalClient({
  credentials: process.env.FAL_KEY,
  requestMiddleware: async (request) => {
    const url = new URL(request.url);
    url.protocol = mock.protocol;
    url.host = mock.host;
    return { ...request, url: url.toString() };
  },
});

async function main() {
  const endpoint = "wan/v2.6/reference-to-video/flash";
  const input = { prompt: "Character1 dances in the rain.", video_urls: ["https://example.com/refs/dancer.mp4"] };
  const { request_id: requestId } = await fal.queue.submit(endpoint, { input });
  const updates = [];
  await fal.queue.subscribeToStatus(endpoint, {
    requestId,
    mode: "streaming",
    logs: true,
    onQueueUpdate: (status) => updates.push({ status: status.status, logs: status.logs || null }),
  });
  const polled = await fal.queue.status(endpoint, { requestId, logs: true });
  console.log(JSON.stringify({ updates, polled_logs: polled.logs }));
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
