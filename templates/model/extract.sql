-- The rows the {{ model }} model learns from. It reads the sample `users` table until you
-- point it at your own data; :limit is bound from the pipeline's `limit` field.
SELECT first_name, email, signup_date, last_order_at, orders, basket_value, sessions_30d, has_subscription
FROM users
LIMIT :limit
