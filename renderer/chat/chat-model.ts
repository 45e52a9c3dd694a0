/** The model the chat on screen writes with: its own setting, the one chosen for a new chat, or the default. */
import { useMemo } from "react";
import { type ModelFacts, modelFacts } from "../lib/remote.ts";
import { useChat, useModels } from "../stores/stores.tsx";

export function useChatModel(): ModelFacts | null {
  const own = useChat((s) => (s.meta ? s.meta.settings.model : (s.draftSettings.model ?? null)));
  const defaultModel = useModels((s) => s.defaultModel);
  const models = useModels((s) => s.models);
  const remote = useModels((s) => s.remote);
  const name = own ?? defaultModel;
  return useMemo(() => modelFacts(name, models, remote), [name, models, remote]);
}
