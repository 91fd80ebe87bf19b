-- The role we are connected as, for the GRANT a message names.
SELECT current_user AS name
