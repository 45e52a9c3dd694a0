/**
 * What the conversation draws on: a chip per attached folder or file, removable, and the Attach
 * button (the system's folder picker in the desktop app; a path to type in a browser, which cannot
 * name folders). Dropping a file or folder on the chat attaches it too (ChatView).
 */
import { type FormEvent, useState } from "react";
import { FileIcon, FolderIcon, PaperclipIcon } from "../components/document-icons.tsx";
import { ErrorNotice } from "../components/ErrorNotice.tsx";
import { IconButton } from "../components/IconButton.tsx";
import { CloseIcon } from "../components/icons.tsx";
import { Modal } from "../components/Modal.tsx";
import { useGrounding, useStores } from "../stores/stores.tsx";

const baseName = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? path;

export function AttachmentBar() {
  const { grounding } = useStores();
  const attachments = useGrounding((s) => s.attachments);
  const error = useGrounding((s) => s.error);
  const attaching = useGrounding((s) => s.attaching);
  if (!attachments.length && !error && !attaching) return null;
  return (
    <div className="attachments">
      {attachments.length ? (
        <ul aria-label="Documents this conversation draws on">
          {attachments.map((a) => (
            <li key={a.path} className="attachment" title={a.path}>
              {a.kind === "folder" ? <FolderIcon /> : <FileIcon />}
              <span>{baseName(a.path)}</span>
              <IconButton
                label={`Stop drawing on ${baseName(a.path)}`}
                icon={<CloseIcon />}
                onClick={() => void grounding.getState().detach(a.path)}
              />
            </li>
          ))}
        </ul>
      ) : null}
      {attaching ? <p className="muted small">Attaching…</p> : null}
      {error ? <ErrorNotice error={error} onDismiss={() => grounding.getState().dismissError()} /> : null}
    </div>
  );
}

export function AttachButton() {
  const { grounding, extras } = useStores();
  const [asking, setAsking] = useState(false);
  const [path, setPath] = useState("");
  const choose = async () => {
    if (extras.chooseFolder) {
      const folder = await extras.chooseFolder();
      if (folder) await grounding.getState().attach(folder);
      return;
    }
    setAsking(true);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!path.trim()) return;
    setAsking(false);
    void grounding.getState().attach(path.trim());
    setPath("");
  };
  return (
    <>
      <IconButton
        label="Attach documents to this chat"
        icon={<PaperclipIcon />}
        onClick={() => void choose()}
      />
      <Modal
        open={asking}
        onOpenChange={setAsking}
        title="Attach documents"
        description="Each reply then draws on the passages of this folder or file that best answer your question, and cites them."
      >
        <form onSubmit={submit}>
          <label className="field">
            <span>Folder or file</span>
            <input value={path} placeholder="/path/to/notes" onChange={(e) => setPath(e.target.value)} />
          </label>
          <div className="dialog-actions">
            <button type="button" className="button subtle" onClick={() => setAsking(false)}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={!path.trim()}>
              Attach
            </button>
          </div>
        </form>
      </Modal>
    </>
  );
}
