/**
 * Traefik's own endpoints (API, ping) listen on the edge namespace's loopback only: no tenant network, and not the
 * host, can reach them. The health check, the rollout gate and the edge handover (`docker exec`) use them from inside.
 */
export const EDGE_INTERNAL_ADDRESS = "127.0.0.1:8082";
