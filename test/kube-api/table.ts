import type { Json } from './json';
import { evaluateJsonPath } from './jsonpath';
import type { KubeObject, PrinterColumn, ResourceType } from './types';

// Server-side printing (meta.k8s.io/v1 Table), which `kubectl get` asks for through the Accept header.
// Custom resources print their additionalPrinterColumns after Name (or Name + Age when none are declared);
// built-in kinds print Name + Age, since this server has none of the per-kind printers.
const NAME_COLUMN = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.' };

export function wantsTable(accept: string | undefined): boolean {
  return Boolean(accept && /;\s*as=Table/.test(accept));
}

function columnsOf(type: ResourceType): PrinterColumn[] {
  return type.printerColumns && type.printerColumns.length > 0 ? type.printerColumns : [AGE_COLUMN];
}

/** k8s.io/apimachinery's duration.HumanDuration, so ages read the same as on a real cluster. */
export function humanDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / 24 / 365);
  const days = Math.floor(hours / 24) % 365;
  return hours < 24 * 365 * 8 && days !== 0 ? `${years}y${days}d` : `${years}y`;
}

function cell(object: KubeObject, column: PrinterColumn, now: number): Json {
  const values = evaluateJsonPath(object as unknown as Json, column.jsonPath);
  if (values.length === 0) return null;
  const value = values[0]!;
  if (column.type === 'date' && typeof value === 'string') return humanDuration(now - Date.parse(value));
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return values.length > 1 ? values.map((v) => String(v)).join(',') : value;
}

export function toTable(type: ResourceType, objects: KubeObject[], listMeta: Record<string, unknown>, includeObject: string | null, now = Date.now()) {
  const columns = columnsOf(type);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: [NAME_COLUMN, ...columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 }))],
    rows: objects.map((object) => ({
      cells: [object.metadata.name!, ...columns.map((c) => cell(object, c, now))],
      object:
        includeObject === 'Object'
          ? object
          : includeObject === 'None'
            ? null
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata },
    })),
  };
}
