// certbot, lego, dehydrated and acme-client issue and revoke with the SA on PostgreSQL (see backends.ts).
import { clientsOnBackend } from './backends.js';

await clientsOnBackend('postgres');
