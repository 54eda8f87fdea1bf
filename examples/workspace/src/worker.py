"""Order confirmation worker: consumes order.created events and sends one e-mail per order."""
import json


def handle(event: bytes, db, mailer) -> None:
    order = json.loads(event)
    if db.confirmation_sent(order["id"]):
        return  # idempotent: a replayed event sends nothing
    mailer.send(order["email"], f"Order {order['id']} confirmed")
    db.mark_confirmation_sent(order["id"])
