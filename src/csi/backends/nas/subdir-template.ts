// The StorageClass `subDir` template: which folder of the export a new volume gets. The variables are those
// of csi-driver-nfs; the PVC ones come from the external-provisioner's --extra-create-metadata, the PV name
// is the CSI volume name. The result must stay inside the export.
import { invalidArgument } from '../../../common/errors.js';
import { subDirProblem } from './nas-paths.js';

export const DEFAULT_SUBDIR_TEMPLATE = '${pv.metadata.name}';

export interface TemplateValues {
  pvName: string;
  pvcName?: string;
  pvcNamespace?: string;
}

const VARIABLES = {
  'pvc.metadata.namespace': 'pvcNamespace',
  'pvc.metadata.name': 'pvcName',
  'pv.metadata.name': 'pvName',
} as const satisfies Record<string, keyof TemplateValues>;
type VariableName = keyof typeof VARIABLES;

const PLACEHOLDER = /\$\{([^}]*)\}/g;
const isVariable = (name: string): name is VariableName => Object.hasOwn(VARIABLES, name);

/** Refuses unknown variables and stray `${`; returns the variables used. */
function variablesOf(template: string, parameter: string): VariableName[] {
  const used: VariableName[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const name = m[1] ?? '';
    if (!isVariable(name)) {
      throw invalidArgument(`StorageClass parameter ${parameter}: unknown variable \${${name}}; use ${Object.keys(VARIABLES).map((v) => `\${${v}}`).join(', ')}`);
    }
    used.push(name);
  }
  if (template.replace(PLACEHOLDER, '').includes('${')) throw invalidArgument(`StorageClass parameter ${parameter}: "${template}" has a "\${" without a closing "}"`);
  return used;
}

function checkResult(result: string, template: string, parameter: string, sample = false): string {
  const why = subDirProblem(result, false);
  if (why) throw invalidArgument(`StorageClass parameter ${parameter}: "${template}" ${sample ? 'would give folders like' : 'gives'} "${result}", which ${why}`);
  return result;
}

/** The subdirectory for one volume. */
export function renderSubDir(template: string | undefined, values: TemplateValues, parameter = 'subDir'): string {
  const tpl = template ?? DEFAULT_SUBDIR_TEMPLATE;
  variablesOf(tpl, parameter);
  const result = tpl.replace(PLACEHOLDER, (_, name: VariableName) => {
    const value = values[VARIABLES[name]];
    if (value === undefined || value === '') {
      throw invalidArgument(
        `StorageClass parameter ${parameter} uses \${${name}}, but the request carries no such value; run the external-provisioner with --extra-create-metadata`,
      );
    }
    return value;
  });
  return checkResult(result, tpl, parameter);
}

/** Checks a template before any volume exists, with sample values in place of the variables. */
export function validateSubDirTemplate(template: string, parameter = 'subDir'): void {
  variablesOf(template, parameter);
  checkResult(template.replace(PLACEHOLDER, 'x'), template, parameter, true);
}
