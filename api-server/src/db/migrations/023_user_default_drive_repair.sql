-- users.default_drive_id (what user/get, the user lists, login and token refresh answer) was written once,
-- at user/create: deleting a user's default drive left it naming the deleted drive, and a new default drive
-- created for the user later did not replace it, so a PDS client opening the drive login names met 404
-- NotFound.Drive. drive/delete and drive/create keep it now; this repairs the rows written before: each user
-- names the drive that is their default, or none.
UPDATE users u SET default_drive_id = d.drive_id
  FROM drives d
 WHERE d.domain_id = u.domain_id AND d.owner_type = 'user' AND d.owner_id = u.user_id AND d.is_default
   AND u.default_drive_id IS DISTINCT FROM d.drive_id;
UPDATE users u SET default_drive_id = NULL
 WHERE u.default_drive_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM drives d WHERE d.domain_id = u.domain_id AND d.owner_type = 'user' AND d.owner_id = u.user_id AND d.is_default);
