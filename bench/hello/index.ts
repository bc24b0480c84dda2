// The baseline every benchmark reports against: the cheapest possible Worker on the same wrangler dev.
export default {
  fetch: () => Response.json({ hello: "world" }),
} satisfies ExportedHandler;
