/** The window: sidebar, the current place, the status bar; theme, shortcuts and first loads. */
import * as Toast from "@radix-ui/react-toast";
import * as Tooltip from "@radix-ui/react-tooltip";
import { useEffect, useState } from "react";
import type { ConnectionState } from "../api/http-transport.ts";
import { ChatView } from "../chat/ChatView.tsx";
import { ErrorBoundary } from "../components/ErrorBoundary.tsx";
import { DocumentsView } from "../documents/DocumentsView.tsx";
import { ModelsView } from "../models/ModelsView.tsx";
import { SearchView } from "../search/SearchView.tsx";
import { SettingsView } from "../settings/SettingsView.tsx";
import { useModels, useSettings, useStores, useUi } from "../stores/stores.tsx";
import { WelcomeView } from "../welcome/WelcomeView.tsx";
import { Sidebar } from "./Sidebar.tsx";
import { StatusBar } from "./StatusBar.tsx";
import { handleShortcut } from "./shortcuts.ts";
import { Toasts } from "./Toasts.tsx";
import { WindowDrop } from "./WindowDrop.tsx";

function CurrentPlace() {
  const place = useUi((s) => s.place);
  const modelsLoaded = useModels((s) => s.loaded);
  // A remote engine's models count: a person may have none on this computer.
  const noModel = useModels((s) => s.models.length === 0 && s.remote.length === 0);
  switch (place) {
    case "chat":
      return modelsLoaded && noModel ? <WelcomeView /> : <ChatView />;
    case "documents":
      return <DocumentsView />;
    case "search":
      return <SearchView />;
    case "models":
      return <ModelsView />;
    case "settings":
      return <SettingsView />;
  }
}

export function App({
  onConnection,
}: {
  onConnection?: (listener: (state: ConnectionState) => void) => () => void;
}) {
  const stores = useStores();
  const theme = useSettings((s) => s.settings?.theme ?? "system");
  const [connection, setConnection] = useState<ConnectionState>("open");
  const place = useUi((s) => s.place);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  useEffect(() => {
    void stores.status.getState().refresh();
    void stores.settings.getState().refresh();
    void stores.models.getState().refresh();
    void stores.conversations.getState().refresh();
    void stores.documents.getState().refresh();
  }, [stores]);

  useEffect(() => {
    if (!onConnection) return;
    let wasLost = false;
    return onConnection((state) => {
      setConnection(state);
      // Events were missed while the stream was down: read the state again.
      if (state === "open" && wasLost) {
        void stores.status.getState().refresh();
        void stores.models.getState().refresh();
        void stores.conversations.getState().refresh();
      }
      wasLost ||= state === "lost";
    });
  }, [onConnection, stores]);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (handleShortcut(event, stores)) event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [stores]);

  return (
    <Tooltip.Provider delayDuration={400}>
      <Toast.Provider swipeDirection="right">
        <div className="app">
          <Sidebar />
          <main className="main" id="main">
            {connection === "lost" ? (
              <p className="banner" role="status">
                Lost the connection to Elmwood's engine; reconnecting…
              </p>
            ) : null}
            <ErrorBoundary resetKey={place}>
              <CurrentPlace />
            </ErrorBoundary>
          </main>
          <StatusBar />
        </div>
        <Toasts />
        <WindowDrop />
      </Toast.Provider>
    </Tooltip.Provider>
  );
}
