-- Every user with their activity and whether they subscribed.
-- :limit is bound from the pipeline's `limit` field (or `--param limit=N`), never pasted in.
SELECT first_name, email, signup_date, last_order_at, orders, basket_value, sessions_30d, has_subscription
FROM users
ORDER BY id
LIMIT :limit
