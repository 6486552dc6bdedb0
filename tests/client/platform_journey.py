"""A platform's journey through tracegate with a client generated from /openapi.json
(openapi-python-client), without hand-written HTTP: token, bind a shop, look up its
seller, check a listing, check a batch, set the webhook and send the webhook test.

Run by tests/api/client.rs, which generates the client (package `tracegate_client`) and
passes the service's URL, a platform's credentials, a seller's binding code and a URL
that receives webhooks in the environment. Exits non-zero, naming the step, on any
answer that is not the documented success.
"""

import os
import sys

from tracegate_client import AuthenticatedClient, Client
from tracegate_client.api.binding import bind_shop, seller_by_shop
from tracegate_client.api.clients import token
from tracegate_client.api.listings import check, check_batch
from tracegate_client.api.webhooks import set_webhook, test_webhook
from tracegate_client.models import (
    BatchDecisions,
    BatchInput,
    BindShop,
    ClientToken,
    ListingDecision,
    ListingRequest,
    ShopSeller,
    TokenRequest,
    WebhookInput,
    WebhookSecret,
    WebhookTest,
)


def expect(step, answer, kind):
    if not isinstance(answer, kind):
        sys.exit(f"{step}: expected {kind.__name__}, got {answer!r}")
    print(f"{step}: ok")
    return answer


def main():
    base_url = os.environ["TRACEGATE_URL"]
    shop = "shop-generated-client"

    granted = expect(
        "token",
        token.sync(
            client=Client(base_url=base_url),
            body=TokenRequest(
                grant_type="client_credentials",
                client_id=os.environ["PLATFORM_CLIENT_ID"],
                client_secret=os.environ["PLATFORM_CLIENT_SECRET"],
            ),
        ),
        ClientToken,
    )
    platform = AuthenticatedClient(base_url=base_url, token=granted.access_token)

    bound = expect(
        "bind",
        bind_shop.sync(
            client=platform,
            body=BindShop(binding_code=os.environ["BINDING_CODE"], shop_id=shop),
        ),
        ShopSeller,
    )
    seller = expect("by-shop", seller_by_shop.sync(shop, client=platform), ShopSeller)
    if seller.seller_id != bound.seller_id:
        sys.exit(f"by-shop: another seller {seller.seller_id} than bound {bound.seller_id}")

    listing = ListingRequest(
        shop_id=shop,
        listing_id="generated-1",
        category="cosmetics",
        title="Sữa rửa mặt trà xanh",
        codes=[],
    )
    decision = expect("listing check", check.sync(client=platform, body=listing), ListingDecision)
    print(f"  decision {decision.decision}, reasons {[r.code.value for r in decision.reasons]}")

    batch = expect(
        "batch",
        check_batch.sync(client=platform, body=BatchInput(listings=[listing])),
        BatchDecisions,
    )
    if len(batch.decisions) != 1:
        sys.exit(f"batch: {len(batch.decisions)} decisions for one listing")

    expect(
        "webhook",
        set_webhook.sync(client=platform, body=WebhookInput(url=os.environ["WEBHOOK_URL"])),
        WebhookSecret,
    )
    sent = expect("webhook test", test_webhook.sync(client=platform), WebhookTest)
    print(f"  events {sorted(e.type_ for e in sent.events)}")


if __name__ == "__main__":
    main()
