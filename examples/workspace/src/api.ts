// HTTP API of the order service (see notes/architecture.md).
export async function createOrder(req: Request, save: (o: unknown) => Promise<string>): Promise<Response> {
  const order = await req.json();
  try {
    return Response.json({ id: await save(order) }, { status: 201 });
  } catch {
    return new Response("database unavailable", { status: 503 });
  }
}
