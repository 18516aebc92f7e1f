// Integration tests need the real local stack; say so loudly instead of letting every test time out.
// The stack implementation replaces this with a real health check.
export default function setup(): void {}
