/** Starts the page: connect to the engine (desktop bridge or browser mode), make the stores, render. */
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { connect } from "./api/transport.ts";
import { App } from "./app/App.tsx";
import { createStores, StoresProvider } from "./stores/stores.tsx";

const root = document.getElementById("app");
if (root) {
  const connection = connect();
  const stores = createStores(connection.client, connection.extras);
  document.documentElement.dataset.mode = connection.mode;
  createRoot(root).render(
    <StrictMode>
      <StoresProvider stores={stores}>
        <App onConnection={connection.onConnection} />
      </StoresProvider>
    </StrictMode>,
  );
}
