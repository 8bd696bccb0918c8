"""Password hashing (argon2id) for sign-in."""
