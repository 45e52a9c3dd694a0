/** "Sent to <host>" where the default model writes (summaries, answers) and it is a remote engine's. */
import { modelFacts } from "../lib/remote.ts";
import { useModels } from "../stores/stores.tsx";

export function DefaultModelNote({ what }: { what: string }) {
  const name = useModels((s) => s.defaultModel);
  const remoteModels = useModels((s) => s.remote);
  const remote = modelFacts(name, [], remoteModels)?.remote;
  if (!name || !remote) return null;
  return (
    <p className="sent-to-note inline" role="note">
      {what} by {name}: the text is sent to <strong>{remote.host}</strong>.
    </p>
  );
}
