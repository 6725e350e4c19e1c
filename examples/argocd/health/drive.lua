-- Argo CD health check for openpds.io/Drive (resource.customizations.health.openpds.io_Drive in argocd-cm).
-- Follows the operator's Ready condition, but only once the operator has seen the current spec: until
-- status.observedGeneration reaches metadata.generation the Ready condition describes an older spec.
local hs = {}

-- Ready=False with these reasons means "not yet", not "broken": the operator is still converging. They are
-- the reasons DRIVE_REASONS (operator/src/reconcilers/drive-context.ts) calls 'progressing'; every other
-- Ready=False reason is Degraded. examples/argocd/argocd.test.ts checks each reason against that map.
local PROGRESSING_REASONS = {
  DomainNotReady = true,
}
local SUSPENDED_REASONS = {}

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting"
  return hs
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation
if status == nil or (generation ~= nil and (status.observedGeneration == nil or status.observedGeneration < generation)) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation or "")
  return hs
end

local ready = nil
if status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end

if ready == nil or (generation ~= nil and ready.observedGeneration ~= nil and ready.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
elseif SUSPENDED_REASONS[ready.reason or ""] then
  hs.status = "Suspended"
  hs.message = (ready.reason or "") .. ": " .. (ready.message or "")
elseif ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ready.reason or "Ready"
elseif ready.status == "False" and not PROGRESSING_REASONS[ready.reason or ""] then
  hs.status = "Degraded"
  hs.message = (ready.reason or "NotReady") .. ": " .. (ready.message or "")
else
  hs.status = "Progressing"
  hs.message = (ready.reason or "Unknown") .. ": " .. (ready.message or "")
end
return hs
