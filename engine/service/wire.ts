/** The library's records as the contract shows them (plain data a window or a socket can carry). */

import {
  type CatalogEntry,
  estimate,
  type DownloadInfo as LibraryDownload,
  type StoredModel,
} from "../../models/index.ts";
import type { CatalogItem, DownloadInfo, ModelInfo } from "../api/contract.ts";

export function toModelInfo(model: StoredModel): ModelInfo {
  return {
    name: model.name,
    precision: model.precision,
    bytes: model.bytes,
    parameters: model.parameters,
    contextLength: model.contextLength,
    isDefault: model.isDefault,
    createdAt: model.createdAt,
    source: {
      path: model.source.path,
      repoId: model.source.repoId ?? null,
      managed: model.source.managed,
      present: model.source.present,
    },
  };
}

export function toCatalogItem(entry: CatalogEntry, installed: readonly StoredModel[]): CatalogItem {
  const repo = entry.repoId.toLowerCase();
  return {
    repoId: entry.repoId,
    slug: entry.slug,
    size: entry.size,
    instruct: entry.instruct,
    parameters: entry.parameters,
    contextLength: entry.contextLength,
    estimate: estimate(entry),
    installed: installed.filter((m) => m.source.repoId?.toLowerCase() === repo).map((m) => m.name),
  };
}

export function toDownloadInfo(download: LibraryDownload): DownloadInfo {
  return {
    repoId: download.repoId,
    complete: download.complete,
    presentBytes: download.presentBytes,
    totalBytes: download.totalBytes,
  };
}
