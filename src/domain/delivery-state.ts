// Only until app/deliver-one.ts imports next-state.ts and response-snippet.ts; then delete this file.
export { decideNextState, outcomeOf, stateAfter } from "./next-state.ts";
export { decodeResponseSnippet } from "./response-snippet.ts";
