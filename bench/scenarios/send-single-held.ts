/**
 * k6-style scenario: send-single again, but the only provider in the keys' scope is an upstream that
 * accepts TCP and never greets, so delivery stalls once its in-flight window is full and the figure
 * is the accept path alone (HTTP, auth, validation, the durable Redis write), without the CPU that
 * delivery takes from the same 2 cores.
 */
export { default, options, messagesPerRequest } from "./send-single.ts";
export const holdDelivery = true;
