-- Argo CD health check for openpds.io/Domain (resource.customizations.health.openpds.io_Domain in argocd-cm).
-- Follows the operator's Ready condition, but only once the operator has seen the current spec: the
-- condition's own observedGeneration, or status.observedGeneration, must reach metadata.generation. The
-- condition's is the one to trust: a reconciler that fails (a missing Secret, an apply the API refused)
-- writes its conditions for the generation it saw, while status.observedGeneration may keep the last
-- generation it fully applied (the Domain reconciler's does, to know what is left to prune).
local hs = {}

-- Ready=False with these reasons means "not yet", not "broken": the operator is still converging. They
-- are the reasons operator/src/reconcilers/domain.ts writes with outcome kind 'waiting'; every other
-- Ready=False reason is Degraded. examples/argocd/argocd.test.ts reads the reasons from domain.ts and
-- fails on one this script does not classify.
local PROGRESSING_REASONS = {
  WaitingForReplicas = true, WaitingForReadyz = true, WaitingForDrives = true, Deleting = true,
  StorageClaimTakenOver = true,
}
-- Stopped: scaled to zero because the spec asks it (Argo CD's Suspended, as for a suspended CronJob).
local SUSPENDED_REASONS = {
  Stopped = true,
}

if obj.metadata ~= nil and obj.metadata.deletionTimestamp ~= nil then
  hs.status = "Progressing"
  hs.message = "Deleting"
  return hs
end

local status = obj.status
local generation = obj.metadata and obj.metadata.generation
local ready = nil
if status ~= nil and status.conditions ~= nil then
  for _, condition in ipairs(status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end

local function reaches(observed)
  return observed ~= nil and observed >= generation
end
if status == nil or (generation ~= nil and not reaches(status.observedGeneration) and not (ready ~= nil and reaches(ready.observedGeneration))) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to reconcile generation " .. tostring(generation or "")
  return hs
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
