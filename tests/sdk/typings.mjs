// Print, as JSON, what the official v2 typings declare (read at test time, so no list
// is ever copied by hand): for each SDK object interface, its members, and for each
// method the property names its parameters accept, nested one object level deep
// ("card.useEscrow"). Overloads are kept apart by their `method` literal when they
// have one (payment.requestPayment: CARD, VIRTUAL_ACCOUNT, ...), else merged.
//
//   node tests/sdk/typings.mjs [node_modules dir]
import { createRequire } from "node:module";
import path from "node:path";

const modules = path.resolve(process.argv[2] || "node_modules");
const require = createRequire(path.join(modules, "noop.js"));
const ts = require("typescript");

const file = path.join(modules, "@tosspayments/tosspayments-sdk/types/index.d.ts");
const program = ts.createProgram([file], { strict: true, noEmit: true });
const checker = program.getTypeChecker();
const source = program.getSourceFile(file);

const INTERFACES = [
  "TossPaymentsSDK",
  "TossPaymentsBrandpay",
  "TossPaymentsPayment",
  "TossPaymentsWidgets",
];

function findInterface(name) {
  let found = null;
  ts.forEachChild(source, (node) => {
    if (ts.isInterfaceDeclaration(node) && node.name.text === name) found = node;
  });
  if (!found) throw new Error(`interface ${name} not found in ${file}`);
  return checker.getTypeAtLocation(found);
}

// Object-like parts of a type: unions/intersections flattened, null/undefined dropped.
function parts(type) {
  if (type.isUnion() || type.isIntersection()) return type.types.flatMap(parts);
  if (type.flags & (ts.TypeFlags.Null | ts.TypeFlags.Undefined)) return [];
  return [type];
}

function isPlainObject(type) {
  if (!(type.flags & ts.TypeFlags.Object)) return false;
  if (checker.isArrayType(type) || checker.isTupleType(type)) return false;
  if (type.getCallSignatures().length) return false;
  const name = type.symbol && type.symbol.name;
  return name !== "Record" && !(type.getStringIndexType && type.getStringIndexType());
}

function propertyNames(type, prefix, depth) {
  const names = new Set();
  for (const part of parts(type)) {
    if (!isPlainObject(part)) continue;
    for (const prop of checker.getPropertiesOfType(part)) {
      const name = prefix + prop.name;
      names.add(name);
      if (depth > 0) {
        const inner = checker.getTypeOfSymbol(prop);
        for (const sub of propertyNames(inner, name + ".", depth - 1)) names.add(sub);
      }
    }
  }
  return names;
}

function methodLiteral(type) {
  for (const part of parts(type)) {
    const prop = part.getProperty && part.getProperty("method");
    if (!prop) continue;
    const literal = checker.getTypeOfSymbol(prop);
    if (literal.isStringLiteral()) return literal.value;
  }
  return null;
}

const out = {};
for (const name of INTERFACES) {
  const iface = findInterface(name);
  const members = {};
  for (const member of checker.getPropertiesOfType(iface)) {
    const type = checker.getTypeOfSymbol(member);
    const variants = {};
    for (const fn of parts(type)) {
      for (const signature of fn.getCallSignatures()) {
        const param = signature.getParameters()[0];
        if (!param) continue;
        const paramType = checker.getTypeOfSymbol(param);
        const key = methodLiteral(paramType) || "*";
        const names = variants[key] || new Set();
        for (const n of propertyNames(paramType, "", 1)) names.add(n);
        variants[key] = names;
      }
    }
    members[member.name] = Object.fromEntries(
      Object.entries(variants).map(([k, v]) => [k, [...v].sort()])
    );
  }
  out[name] = members;
}
process.stdout.write(JSON.stringify(out, null, 2) + "\n");
